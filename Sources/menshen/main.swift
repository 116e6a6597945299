import Proxy

// `menshen serve` runs its tasks on NIO's event loops (see `Sidecar.runTasksOnEventLoops`);
// that must happen before the first task starts, hence top-level code rather than `@main`.
if CommandLine.arguments.dropFirst().first == "serve" {
    Sidecar.runTasksOnEventLoops()
}
await Menshen.start()
