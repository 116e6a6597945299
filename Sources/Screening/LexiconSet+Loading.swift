import Foundation
import Normalization

extension LexiconSet {
    /// Loads and compiles every lexicon under `directory`.
    ///
    /// - `*.txt` are term lists, `*.yaml` / `*.yml` regex rule files; `*.cases.jsonl` regression
    ///   cases and `*.md` are skipped; so are names starting with `.` (editor swap files and the
    ///   Kubernetes ConfigMap `..data` machinery — the visible names are symlinks into it and are
    ///   followed).
    /// - Every problem in every file is collected; the result is a complete set or an error
    ///   listing all of them with `file:line`.
    ///
    /// ```swift
    /// let lexicons = try LexiconSet.load(directory: "Lexicons")
    /// ```
    public static func load(directory: String) throws(LexiconLoadError) -> LexiconSet {
        var issues: [LexiconIssue] = []
        let files = LexiconDirectory.sourceFiles(in: directory, issues: &issues)
        var sources: [Source] = []
        var hashed: [(path: String, bytes: [UInt8])] = []
        for file in files {
            guard let data = FileManager.default.contents(atPath: file.absolute) else {
                issues.append(LexiconIssue(file: file.display, line: 1, message: "cannot read file"))
                continue
            }
            let bytes = [UInt8](data)
            guard let text = String(validating: bytes, as: UTF8.self) else {
                let line = LexiconDirectory.lineOfFirstInvalidUTF8(bytes)
                issues.append(LexiconIssue(file: file.display, line: line, message: "not valid UTF-8"))
                continue
            }
            hashed.append((file.relative, bytes))
            if file.relative.hasSuffix(".txt") {
                if let parsed = TermListFile.parse(text, path: file.display, issues: &issues) { sources.append(.terms(parsed, path: file.display)) }
            } else {
                if let parsed = RegexRuleFile.parse(text, path: file.display, issues: &issues) { sources.append(.regex(parsed, path: file.display)) }
            }
        }
        if files.isEmpty && issues.isEmpty {
            issues.append(LexiconIssue(file: directory, line: 0, message: "no lexicon files (*.txt, *.yaml) found"))
        }
        guard issues.isEmpty else { throw LexiconLoadError(issues: issues) }
        guard let set = compile(sources: sources, contentHash: contentHash(of: hashed), issues: &issues) else {
            throw LexiconLoadError(issues: issues)
        }
        return set
    }

    /// The version ``load(directory:)`` would give the directory's current files, without
    /// compiling them: a cheap check for "did anything change?".
    public static func contentVersion(directory: String) -> String? {
        var issues: [LexiconIssue] = []
        let files = LexiconDirectory.sourceFiles(in: directory, issues: &issues)
        guard issues.isEmpty else { return nil }
        var hashed: [(path: String, bytes: [UInt8])] = []
        for file in files {
            guard let data = FileManager.default.contents(atPath: file.absolute) else { return nil }
            hashed.append((file.relative, [UInt8](data)))
        }
        return contentHash(of: hashed)
    }

    /// Compiles lexicons given as text, keyed by file name (`finance.txt`, `pii.yaml`). For
    /// tests, tools and benchmarks that build lexicons without a directory.
    public static func compile(files: [(name: String, text: String)]) throws(LexiconLoadError) -> LexiconSet {
        var issues: [LexiconIssue] = []
        var sources: [Source] = []
        for file in files {
            if file.name.hasSuffix(".txt") {
                if let parsed = TermListFile.parse(file.text, path: file.name, issues: &issues) { sources.append(.terms(parsed, path: file.name)) }
            } else if let parsed = RegexRuleFile.parse(file.text, path: file.name, issues: &issues) {
                sources.append(.regex(parsed, path: file.name))
            }
        }
        guard issues.isEmpty else { throw LexiconLoadError(issues: issues) }
        let hash = contentHash(of: files.map { ($0.name, Array($0.text.utf8)) })
        guard let set = compile(sources: sources, contentHash: hash, issues: &issues) else { throw LexiconLoadError(issues: issues) }
        return set
    }
}

/// Finds lexicon source files in a directory tree.
enum LexiconDirectory {
    struct File {
        let absolute: String
        let relative: String
        /// How the file is named in messages: the directory as given, joined with the relative path.
        let display: String
    }

    static func sourceFiles(in directory: String, issues: inout [LexiconIssue]) -> [File] {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            issues.append(LexiconIssue(file: directory, line: 0, message: "not a directory"))
            return []
        }
        var result: [File] = []
        func walk(_ relative: String, depth: Int) {
            guard depth < 8 else { return }
            let absolute = relative.isEmpty ? directory : directory + "/" + relative
            guard let names = try? fm.contentsOfDirectory(atPath: absolute) else { return }
            for name in names.sorted() where !name.hasPrefix(".") {
                let childRelative = relative.isEmpty ? name : relative + "/" + name
                let childAbsolute = directory + "/" + childRelative
                var childIsDirectory: ObjCBool = false
                guard fm.fileExists(atPath: childAbsolute, isDirectory: &childIsDirectory) else { continue }
                if childIsDirectory.boolValue {
                    walk(childRelative, depth: depth + 1)
                } else if isSource(name) {
                    let display = directory.hasSuffix("/") ? directory + childRelative : directory + "/" + childRelative
                    result.append(File(absolute: childAbsolute, relative: childRelative, display: display))
                }
            }
        }
        walk("", depth: 0)
        return result
    }

    static func isSource(_ name: String) -> Bool {
        if name.hasSuffix(".cases.jsonl") { return false }
        return name.hasSuffix(".txt") || name.hasSuffix(".yaml") || name.hasSuffix(".yml")
    }

    static func lineOfFirstInvalidUTF8(_ bytes: [UInt8]) -> Int {
        var line = 1
        var i = 0
        return bytes.withUnsafeBufferPointer { p -> Int in
            while i < p.count {
                switch UTF8Scalar.decode(p.baseAddress!, i, p.count, final: true) {
                case .scalar(let s, let length):
                    if s == 0xFFFD && !(length == 3 && p[i] == 0xEF) { return line }
                    if s == 10 { line += 1 }
                    i += length
                case .needMore:
                    return line
                }
            }
            return line
        }
    }
}
