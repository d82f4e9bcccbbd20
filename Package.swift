// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "keyward",
  platforms: [.macOS(.v13)],
  products: [
    .executable(name: "keyward", targets: ["keyward"]),
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
    // All logic. Knows nothing of the command line.
    .target(
      name: "KeywardCore",
      dependencies: ["CSodium"],
      exclude: ["FORMAT.md"]
    ),
    // The thin executable: parses arguments, calls one core function, prints the result.
    .executableTarget(
      name: "keyward",
      dependencies: [
        "KeywardCore",
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
      dependencies: ["KeywardCore", "keyward"]
    ),
  ],
  swiftLanguageModes: [.v6]
)
