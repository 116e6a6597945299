import Foundation

/// The repository root, found from this file's path (tests read shipped lexicons and fixtures).
public let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }     // TestSupport/RepositoryRoot.swift, Tests
    return url.path
}()
