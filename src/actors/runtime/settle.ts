/**
 * Runs `run` and calls `done` once with its error, or with none, when it has settled: at once for
 * a value or a throw, when the promise settles for a promise. Returns (or throws) what `run` does.
 */
export function whenSettled(run: () => unknown, done: (error?: unknown) => void): unknown {
  let outcome: unknown;
  try {
    outcome = run();
  } catch (error) {
    done(error ?? new Error(String(error)));
    throw error;
  }
  if (!(outcome instanceof Promise)) {
    done();
    return outcome;
  }
  return outcome.then(
    (value: unknown) => {
      done();
      return value;
    },
    (error: unknown) => {
      done(error ?? new Error(String(error)));
      throw error;
    },
  );
}
