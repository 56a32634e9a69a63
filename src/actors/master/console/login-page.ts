/** The page a browser without the console's cookie gets (with 401): a form that asks for the admin token. */
export function loginPage(path: string, problem: string | undefined): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Shaddock console: sign in</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; background: #f4f5f7; color: #1d232b; display: grid; place-items: center; min-height: 90vh; margin: 0; }
  form { background: #fff; padding: 1.5rem 2rem; border-radius: 8px; box-shadow: 0 1px 4px #0002; min-width: 22rem; }
  h1 { font-size: 1.2rem; margin: 0 0 .8rem; }
  input { width: 100%; box-sizing: border-box; padding: .45rem; font: inherit; margin: .3rem 0 .8rem; }
  button { padding: .45rem 1rem; font: inherit; }
  .problem { color: #b3261e; }
  .hint { color: #5b6570; font-size: .85rem; }
</style>
</head>
<body>
<form id="sign-in" method="get" action="${escapeHtml(path)}">
  <h1>Shaddock console</h1>
  ${problem ? `<p class="problem" id="sign-in-problem">${escapeHtml(problem)}</p>` : ''}
  <label for="token">Admin token</label>
  <input id="token" name="token" type="password" autocomplete="current-password" autofocus required>
  <button type="submit">Sign in</button>
  <p class="hint">The token is master.json's <code>adminToken</code>, or the one in the app's <code>.shaddock/&lt;env&gt;.json</code>; <code>shaddock console</code> prints the address with it.</p>
</form>
</body>
</html>
`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
