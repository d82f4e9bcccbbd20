import KeywardCLIKit
import KeywardCore

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

// The `keyward` users and deploy scripts call. It links neither swift-argument-parser nor
// Foundation, so it starts about as fast as a Go binary: the commands scripts call on every start
// run here directly (FastPath). Everything else — help, usage errors, every other command — is
// handed to `keyward-cli` beside this binary with exec, as git hands `git foo` to `git-foo`.

ProcessHardening.apply()
ProcessMemory.returnFreed()
let arguments = Array(CommandLine.arguments.dropFirst())
if let fast = FastPath.parse(arguments) {
  do {
    let status = try FastPath.run(fast)
    exitProcess(status.rawValue)
  } catch {
    FastPath.printer(for: fast).fail(error)
    exitProcess(error.exitStatus.rawValue)
  }
}
let cli = Path.directory(Launcher.selfPath()) + "/keyward-cli"
// keyward-cli hardens itself and must see the caller's core-dump limit to give it back to the
// program `keyward run` execs (it would otherwise take the lowered limit for the original).
ProcessHardening.restoreForExec()
Launcher.exec(cli, arguments)
