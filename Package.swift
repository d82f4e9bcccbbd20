// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "keyward",
  platforms: [.macOS(.v13)],
  products: [
    .executable(name: "keyward", targets: ["keyward"]),
    .executable(name: "keyward-cli", targets: ["keyward-cli"]),
    .library(name: "KeywardCore", targets: ["KeywardCore"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.6.0"),
    .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    // Named for their products that keyward imports directly (all resolved for the two above anyway).
    .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
    .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.2"),
    .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
    .package(url: "https://github.com/apple/swift-log", from: "1.14.0"),
  ],
  targets: [
    // libsodium from the system (Debian: libsodium-dev; Homebrew: libsodium).
    .systemLibrary(
      name: "CSodium",
      pkgConfig: "libsodium",
      providers: [.apt(["libsodium-dev"]), .brew(["libsodium"])]
    ),
    // Ed25519 verification with a table per signing key (audits verify tens of thousands of
    // signatures by a few keys); accepts exactly what libsodium accepts. Optimised in debug builds
    // too, so the tests do not spend minutes in unoptimised arithmetic.
    .target(name: "CEd25519", cSettings: [.unsafeFlags(["-O2"])]),
    // Four BLAKE2b compressions at once with AVX2 where the CPU has it (scan's fingerprints of
    // candidate words); equal to libsodium's answers, a property test holds it to them.
    .target(name: "CScanHash", cSettings: [.unsafeFlags(["-O2"])]),
    // statfs(2)'s file system type, which Swift's Glibc module leaves out.
    .target(name: "CFileSystem"),
    // All logic. Knows nothing of the command line, and needs no Foundation.
    .target(
      name: "KeywardCore",
      dependencies: ["CSodium", "CEd25519", "CScanHash", "CFileSystem"],
      exclude: ["FORMAT.md"]
    ),
    // Content-Security-Policy: the browsers' evaluation, lint, fixes and page checks (`keyward csp`).
    .target(name: "KeywardCSP", dependencies: ["KeywardCore", "CSodium"]),
    // HTTPS to the providers: async-http-client (timeouts, proxies, extra trust roots).
    .target(
      name: "KeywardNet",
      dependencies: [
        "KeywardCore",
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
      ]
    ),
    // `keyward emulate`: a provider emulator on loopback, served by hummingbird.
    .target(
      name: "KeywardEmulator",
      dependencies: [
        "KeywardCore",
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "HTTPTypes", package: "swift-http-types"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "Logging", package: "swift-log"),
      ]
    ),
    // Output, the plain request values of the hot commands, and their argument fast path.
    // No swift-argument-parser and no Foundation: `keyward` links only this and the core.
    .target(name: "KeywardCLIKit", dependencies: ["KeywardCore"]),
    // `keyward`: runs the commands deploy scripts call on every start, execs keyward-cli for the rest.
    // It must not depend on keyward-cli (that would link argument-parser into it): `swift build`
    // builds both products.
    // On Linux it is one static executable (glibc, libsodium and the Swift runtime inside): no
    // dynamic loader at start, which was a quarter of a cold `show` (README "Decisions").
    .executableTarget(
      name: "keyward", dependencies: ["KeywardCLIKit", "KeywardCore"],
      linkerSettings: [.unsafeFlags(["-static-executable"], .when(platforms: [.linux]))]
    ),
    // `keyward-cli`: every command, parsed by swift-argument-parser.
    .executableTarget(
      name: "keyward-cli",
      dependencies: [
        "KeywardCLIKit", "KeywardCore", "KeywardCSP", "KeywardNet", "KeywardEmulator",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      // The JSON Schema of every command's --format json document (README "JSON output").
      exclude: ["Schemas"]
    ),
    // Temporary folders for both test targets, removed when the test process exits.
    .target(name: "TestFolders", path: "Tests/TestFolders"),
    .testTarget(
      name: "KeywardCoreTests",
      dependencies: ["KeywardCore", "KeywardCSP", "TestFolders"],
      resources: [.copy("Fixtures")]
    ),
    .testTarget(
      name: "KeywardCLITests",
      dependencies: [
        // Not "keyward": a test bundle that depends on an executable target links its objects with
        // its linker settings (keyward's are static; `swift build` and `swift test` build it anyway).
        "KeywardCore", "KeywardCLIKit", "keyward-cli", "TestFolders",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),
  ],
  swiftLanguageModes: [.v6]
)
