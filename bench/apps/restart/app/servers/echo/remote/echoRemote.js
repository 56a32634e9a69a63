/**
 * The restart bench's probe: returns its argument with the pid of the process that answered, so
 * the bench knows the answer came from the restarted process and not the one it killed.
 */
export default class EchoRemote {
  echo(value) {
    return { pid: process.pid, value };
  }
}
