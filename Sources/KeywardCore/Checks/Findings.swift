/// How serious a finding is; `--fail-on` compares against it.
public enum Severity: String, Sendable, Encodable, Comparable, CaseIterable {
  case note
  case warning
  case error

  var rank: Int { self == .note ? 0 : self == .warning ? 1 : 2 }
  public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
}

/// One problem found by `keyward check`: never a value, only fingerprints, names and dates.
public struct Finding: Sendable, Encodable, Equatable {
  public var id: String
  public var severity: Severity
  public var environment: String?
  public var set: String?
  public var message: String
  public var evidence: [String: String]
  /// The command to run about it.
  public var remedy: String?
  /// The file the finding is about (for SARIF locations).
  public var file: String?

  public init(
    id: String, severity: Severity, environment: String?, set: String?, message: String,
    evidence: [String: String],
    remedy: String?, file: String?
  ) {
    self.id = id
    self.severity = severity
    self.environment = environment
    self.set = set
    self.message = message
    self.evidence = evidence
    self.remedy = remedy
    self.file = file
  }
}

/// Every finding id, with a title (the README lists them; SARIF carries them as rules).
public enum CheckRule: String, Sendable, CaseIterable {
  case swappedInStore = "KW101"
  case swappedOnline = "KW102"
  case sameKeyAcrossEnvironments = "KW201"
  case sameSecretAcrossEnvironments = "KW202"
  case productionHoldsOtherEnvironmentsSet = "KW203"
  case stale = "KW301"
  case retiringPastGrace = "KW302"
  case pendingNotPromoted = "KW303"
  case lastVerificationFailed = "KW304"
  case neverVerified = "KW305"
  case onlineInconclusive = "KW306"
  case deployedNotActive = "KW401"
  case deployedOneVariable = "KW402"
  case deployedNamesExchanged = "KW403"
  case deployedOtherEnvironment = "KW404"
  case deployedRetiredSet = "KW405"
  case deployedPasteAccident = "KW406"
  case testCredentialInProduction = "KW501"
  case recipientKeyMismatch = "KW601"
  case keyFileTooOpen = "KW602"
  case plaintextInWorkspace = "KW603"
  case unexpectedFile = "KW604"
  case specialFileInWorkspace = "KW605"
  case trailInterrupted = "KW801"
  case trailChangedOutside = "KW802"

  public var title: String {
    switch self {
    case .swappedInStore: return "App Key and App Secret swapped in a stored set"
    case .swappedOnline: return "the provider accepts the pair only the other way round (--online)"
    case .sameKeyAcrossEnvironments: return "the same App Key in two environments"
    case .sameSecretAcrossEnvironments: return "the same App Secret in two environments"
    case .productionHoldsOtherEnvironmentsSet:
      return "a production environment holds a set that is or was another environment's"
    case .stale: return "a set older than the rotation policy allows"
    case .retiringPastGrace: return "a retiring set kept past its grace period"
    case .pendingNotPromoted: return "a pending set never promoted"
    case .lastVerificationFailed: return "the last live verification found a problem"
    case .neverVerified: return "a set never verified live"
    case .onlineInconclusive: return "the live check could not verify a set (--online)"
    case .deployedNotActive: return "the deployed pair is not the environment's active set"
    case .deployedOneVariable: return "only one of the two variables is deployed"
    case .deployedNamesExchanged: return "the deployed variable names are exchanged"
    case .deployedOtherEnvironment: return "the deployed pair belongs to another environment"
    case .deployedRetiredSet: return "the deployed pair is a retired set"
    case .deployedPasteAccident: return "a deployed value looks pasted with whitespace or quotes"
    case .testCredentialInProduction: return "a provider's public test credential in a production environment"
    case .recipientKeyMismatch: return "the environment's recipient key is not the key store's key"
    case .keyFileTooOpen: return "a private key file readable by group or others"
    case .plaintextInWorkspace: return "a plaintext secret in the workspace folder"
    case .unexpectedFile: return "a file in the workspace folder that keyward did not write"
    case .specialFileInWorkspace:
      return "a symbolic link, FIFO, device or socket in the workspace folder or key store"
    case .trailInterrupted:
      return "the audit trail records a change its environment file never got (interrupted)"
    case .trailChangedOutside:
      return "an environment file changed outside keyward since the trail last recorded it"
    }
  }
}
