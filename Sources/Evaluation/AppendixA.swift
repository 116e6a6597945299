/// The 31 content risks of TC260-003-2024 *Basic security requirements for generative
/// artificial intelligence service* Appendix A, carried into GB/T 45654-2025. Short names
/// written for Menshen from the public standard (paraphrased, not quoted), for reports.
public struct AppendixARisk: Sendable, Hashable, Codable {
    /// `A.1.a` … `A.5.b`: the form lexicons use in `@risk:` / `risk:`.
    public let code: String
    public let chinese: String
    public let english: String

    /// `A.1` … `A.5`.
    public var group: String { String(code.prefix(3)) }

    /// Keyword minimum the standard sets for a keyword library per risk: at least 200 for each
    /// A.1 risk, at least 100 for each A.2 risk; none for A.3–A.5 (nil).
    public var keywordMinimum: Int? {
        switch group {
        case "A.1": return 200
        case "A.2": return 100
        default: return nil
        }
    }
}

public enum AppendixA {
    /// The keyword library should hold at least this many keywords in all.
    public static let totalKeywordMinimum = 10_000
    /// The keyword library should be updated at least weekly.
    public static let updateIntervalDays = 7

    public static let groups: [(code: String, chinese: String, english: String)] = [
        ("A.1", "违反社会主义核心价值观的内容", "Content violating the core socialist values"),
        ("A.2", "歧视性内容", "Discriminatory content"),
        ("A.3", "商业违法违规", "Commercial violations of laws and regulations"),
        ("A.4", "侵犯他人合法权益", "Infringement of others' legitimate rights and interests"),
        ("A.5", "无法满足特定服务类型的安全需求", "Failing the security needs of specific service types"),
    ]

    public static let risks: [AppendixARisk] = [
        .init(code: "A.1.a", chinese: "煽动颠覆国家政权、推翻社会主义制度", english: "Inciting subversion of state power or the overthrow of the socialist system"),
        .init(code: "A.1.b", chinese: "危害国家安全和利益、损害国家形象", english: "Endangering national security and interests, harming the national image"),
        .init(code: "A.1.c", chinese: "煽动分裂国家、破坏国家统一和社会稳定", english: "Inciting secession, undermining national unity and social stability"),
        .init(code: "A.1.d", chinese: "宣扬恐怖主义、极端主义", english: "Promoting terrorism or extremism"),
        .init(code: "A.1.e", chinese: "宣扬民族仇恨", english: "Promoting ethnic hatred"),
        .init(code: "A.1.f", chinese: "宣扬暴力、淫秽色情", english: "Promoting violence, obscenity or pornography"),
        .init(code: "A.1.g", chinese: "传播虚假有害信息", english: "Spreading false and harmful information"),
        .init(code: "A.1.h", chinese: "其他法律、行政法规禁止的内容", english: "Other content prohibited by laws and administrative regulations"),
        .init(code: "A.2.a", chinese: "民族歧视", english: "Ethnic discrimination"),
        .init(code: "A.2.b", chinese: "信仰歧视", english: "Discrimination by belief"),
        .init(code: "A.2.c", chinese: "国别歧视", english: "Discrimination by nationality"),
        .init(code: "A.2.d", chinese: "地域歧视", english: "Regional discrimination"),
        .init(code: "A.2.e", chinese: "性别歧视", english: "Gender discrimination"),
        .init(code: "A.2.f", chinese: "年龄歧视", english: "Age discrimination"),
        .init(code: "A.2.g", chinese: "职业歧视", english: "Occupational discrimination"),
        .init(code: "A.2.h", chinese: "健康歧视", english: "Health discrimination"),
        .init(code: "A.2.i", chinese: "其他方面歧视", english: "Other discrimination"),
        .init(code: "A.3.a", chinese: "侵犯他人知识产权", english: "Infringing others' intellectual property rights"),
        .init(code: "A.3.b", chinese: "违反商业道德", english: "Violating business ethics"),
        .init(code: "A.3.c", chinese: "泄露他人商业秘密", english: "Disclosing others' trade secrets"),
        .init(code: "A.3.d", chinese: "利用算法、数据、平台等优势实施垄断和不正当竞争", english: "Monopoly or unfair competition using algorithm, data or platform advantages"),
        .init(code: "A.3.e", chinese: "其他商业违法违规行为", english: "Other commercial violations of laws and regulations"),
        .init(code: "A.4.a", chinese: "危害他人身心健康", english: "Endangering others' physical or mental health"),
        .init(code: "A.4.b", chinese: "侵害他人肖像权", english: "Infringing others' portrait rights"),
        .init(code: "A.4.c", chinese: "侵害他人名誉权", english: "Infringing others' reputation rights"),
        .init(code: "A.4.d", chinese: "侵害他人荣誉权", english: "Infringing others' honour rights"),
        .init(code: "A.4.e", chinese: "侵害他人隐私权", english: "Infringing others' privacy rights"),
        .init(code: "A.4.f", chinese: "侵害他人个人信息权益", english: "Infringing others' personal-information rights"),
        .init(code: "A.4.g", chinese: "侵犯他人其他合法权益", english: "Infringing others' other legitimate rights and interests"),
        .init(code: "A.5.a", chinese: "用于安全需求较高的场景时内容不准确、严重不符合科学常识或主流认知", english: "In high-security-need uses (automatic control, medical information, psychological counselling, critical information infrastructure): inaccurate content, seriously at odds with science or mainstream understanding"),
        .init(code: "A.5.b", chinese: "用于安全需求较高的场景时内容不可靠、无法对使用者形成帮助", english: "In high-security-need uses: unreliable content that, though not seriously wrong, does not help the user"),
    ]

    /// The risk with `code`, if it is one of the 31.
    public static func risk(_ code: String) -> AppendixARisk? { risks.first { $0.code == code } }
}
