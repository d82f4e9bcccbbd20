import HTTPTypes
import Hummingbird
import KeywardCore
import Logging
import NIOCore
import ServiceLifecycle

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Serves an `Emulator` over HTTP/1.1 with hummingbird.
public enum EmulatorServer {
  static let paths = [
    "/v1/validate", "/api/validate", "/v1/server/challenge/issue", "/recaptcha/api/siteverify", "/siteverify",
    "/turnstile/v0/siteverify", "/__emulator/solve",
  ]

  /// Runs until SIGINT or SIGTERM. `ready` gets the bound port (useful with port 0).
  public static func run(
    emulator: Emulator, host: String, port: Int, ready: @escaping @Sendable (Int) -> Void
  )
    async throws
  {
    let router = Router()
    for path in paths {
      router.post(RouterPath(path)) { request, _ -> Response in
        try await respond(emulator, request, path: path)
      }
    }
    router.get("/__emulator/health") { request, _ -> Response in
      try await respond(emulator, request, path: "/__emulator/health")
    }
    router.get("/site/**") { request, _ -> Response in
      let r = EmulatorSite.respond(path: request.uri.path, query: request.uri.query)
      var fields = HTTPFields()
      for (name, value) in r.headers {
        if let n = HTTPField.Name(name) { fields[n] = value }
      }
      return Response(
        status: HTTPResponse.Status(code: r.status), headers: fields,
        body: ResponseBody(byteBuffer: ByteBuffer(bytes: r.body)))
    }
    var logger = Logger(label: "keyward.emulator")
    logger.logLevel = .error
    let app = Application(
      router: router, configuration: .init(address: .hostname(host, port: port)),
      onServerRunning: { channel in ready(channel.localAddress?.port ?? port) }, logger: logger)
    // A hanging request must not hold up shutdown for long.
    var config = ServiceGroupConfiguration(
      services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    config.maximumGracefulShutdownDuration = .seconds(2)
    let group = ServiceGroup(configuration: config)
    do {
      try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        try await tasks.next()
        tasks.cancelAll()
      }
    } catch let e as IOError {
      // Said in words, with what to do: not the socket library's description.
      if e.errnoCode == EADDRINUSE {
        throw KeywardError(
          .input, "\(host):\(port) is already in use by another process",
          hint: "choose another --port, or --port 0 for any free one (the first line says which)")
      }
      throw KeywardError(
        .input, "cannot listen on \(host):\(port): \(String(cString: strerror(e.errnoCode)))")
    }
  }

  static func respond(_ emulator: Emulator, _ request: Request, path: String) async throws -> Response {
    var headers = [String: String]()
    for field in request.headers { headers[field.name.canonicalName] = field.value }
    let body = try await request.body.collect(upTo: 64 * 1024)
    let r = await emulator.handle(
      EmulatorRequest(
        method: request.method.rawValue, path: path, headers: headers, body: Array(buffer: body)))
    if r.hang {
      // Never answers (the client's timeout is what is being tested); bounded so the process can end.
      try? await Task.sleep(nanoseconds: 120 * 1_000_000_000)
    } else if r.delayMs > 0 {
      try? await Task.sleep(nanoseconds: UInt64(r.delayMs) * 1_000_000)
    }
    var fields = HTTPFields()
    for (name, value) in r.headers {
      if let n = HTTPField.Name(name) { fields[n] = value }
    }
    return Response(
      status: HTTPResponse.Status(code: r.hang ? 504 : r.status), headers: fields,
      body: ResponseBody(byteBuffer: ByteBuffer(bytes: r.body)))
  }
}
