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
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.6.0")
  ],
  targets: [
    // libsodium from the system (Debian: libsodium-dev; Homebrew: libsodium).
    .systemLibrary(
      name: "CSodium",
      pkgConfig: "libsodium",
      providers: [.apt(["libsodium-dev"]), .brew(["libsodium"])]
    ),
    // All logic. Knows nothing of the command line, and needs no Foundation.
    .target(
      name: "KeywardCore",
      dependencies: ["CSodium"],
      exclude: ["FORMAT.md"]
    ),
    // Output, the plain request values of the hot commands, and their argument fast path.
    // No swift-argument-parser and no Foundation: `keyward` links only this and the core.
    .target(name: "KeywardCLIKit", dependencies: ["KeywardCore"]),
    // `keyward`: runs the commands deploy scripts call on every start, execs keyward-cli for the rest.
    // It must not depend on keyward-cli (that would link argument-parser into it): `swift build`
    // builds both products.
    .executableTarget(name: "keyward", dependencies: ["KeywardCLIKit", "KeywardCore"]),
    // `keyward-cli`: every command, parsed by swift-argument-parser.
    .executableTarget(
      name: "keyward-cli",
      dependencies: [
        "KeywardCLIKit", "KeywardCore",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),
    .testTarget(
      name: "KeywardCoreTests",
      dependencies: ["KeywardCore"],
      resources: [.copy("Fixtures")]
    ),
    .testTarget(
      name: "KeywardCLITests",
      dependencies: [
        "KeywardCore", "KeywardCLIKit", "keyward", "keyward-cli",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),
  ],
  swiftLanguageModes: [.v6]
)
