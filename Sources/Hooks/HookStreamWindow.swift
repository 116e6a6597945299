import Screening

/// Cuts one streamed text into windows for the hooks and says what may be delivered when.
///
/// The proxy feeds it the text the lexicon screener released (``append(_:)``), classifies
/// each window it hands out (``Actions/classify``) with ``HookRunner``, reports each verdict
/// (``receive(_:for:)``) and delivers exactly ``Actions/release``. When the upstream ends it
/// calls ``finish()`` and waits for ``Actions/done`` (every verdict in) before sending the
/// final `finish_reason`; on ``Actions/cut`` it ends the stream with `content_filter`.
///
/// - `hold`: a window's text is delivered only after its own verdict (and every earlier
///   one's): nothing a hook would block reaches the client; each window adds a hook's latency.
/// - `async`: text flows while its own window is classified; only the text of the *next*
///   window waits for that verdict. An unsafe window may reach the client (the leak is
///   bounded by one window), nothing after it does. With a classifier faster than the model
///   writes a window, text never waits.
///
/// Windows are counted in Unicode scalars. Each window is classified together with the end
/// of the text before it (``Window/context``), so a phrase cut by a boundary is still seen.
///
/// ```swift
/// var window = HookStreamWindow(mode: .hold, windowCharacters: 400, contextCharacters: 100)
/// var a = window.append(releasedByLexicon)          // a.release → client; a.classify → hooks
/// a = window.receive(outcome.decision, for: w.index) // a.release, or a.cut
/// a = window.finish()                                 // then wait for a.done
/// ```
public struct HookStreamWindow: Sendable {
    public enum Mode: String, Sendable, CaseIterable {
        case hold
        case async
    }

    public struct Window: Sendable, Equatable {
        public let index: Int
        /// The window's own text.
        public let text: String
        /// Up to `contextCharacters` of the text before the window.
        public let context: String
        /// The stream's last window (possibly shorter).
        public let isLast: Bool
        /// What the hooks classify: the context, then the window.
        public var classifiedText: String { context + text }
    }

    /// What the proxy does after an event.
    public struct Actions: Sendable, Equatable {
        /// Text that may be delivered now, in stream order.
        public var release = ""
        /// Windows to classify now; report each verdict with ``HookStreamWindow/receive(_:for:)``.
        public var classify: [Window] = []
        /// A window was judged unsafe: end the stream (`finish_reason: content_filter`);
        /// nothing more will be released.
        public var cut = false
        /// Every window has its verdict and all text is released: end the stream normally.
        public var done = false
    }

    public enum State: Sendable, Equatable {
        /// Text is arriving.
        case streaming
        /// The upstream ended; verdicts are outstanding.
        case finishing
        /// A window was unsafe. Terminal.
        case cut(window: Int)
        /// Everything classified and released. Terminal.
        case done
    }

    public let mode: Mode
    public let windowCharacters: Int
    public let contextCharacters: Int
    public private(set) var state: State = .streaming

    /// Text not yet released, in order, each piece tagged with the window it belongs to.
    private var unreleased: [(window: Int, text: String.UnicodeScalarView)] = []
    /// The open window's text so far.
    private var open = String.UnicodeScalarView()
    private var openCount = 0
    /// The index the open window will get.
    private var nextIndex = 0
    /// Windows `0..<allowedPrefix` were all judged safe.
    private var allowedPrefix = 0
    /// Safe verdicts received out of order (for windows at or after `allowedPrefix`).
    private var allowedAhead: Set<Int> = []
    /// The last `contextCharacters` scalars before the open window.
    private var context = String.UnicodeScalarView()

    public init(mode: Mode, windowCharacters: Int, contextCharacters: Int = 0) {
        precondition(windowCharacters >= 1, "a window holds at least one character")
        precondition(contextCharacters >= 0, "context cannot be negative")
        self.mode = mode
        self.windowCharacters = windowCharacters
        self.contextCharacters = contextCharacters
    }

    public init(settings: HookSettings.StreamSettings) {
        self.init(mode: settings.mode, windowCharacters: settings.windowCharacters, contextCharacters: settings.contextCharacters)
    }

    /// How many windows after the safe prefix may flow before their verdicts: hold 0
    /// (a window waits for its own verdict), async 1 (the window being classified flows).
    private var lag: Int { mode == .hold ? 0 : 1 }

    /// Characters (Unicode scalars) held back right now (for metrics).
    public var heldScalars: Int { unreleased.reduce(0) { $0 + $1.text.count } }

    // MARK: Events

    /// More text of the stream.
    public mutating func append(_ text: String) -> Actions {
        switch state {
        case .streaming: break
        case .cut: return Actions()              // in-flight upstream text after a cut: dropped
        case .finishing, .done: preconditionFailure("HookStreamWindow.append in state \(state): the stream was already finished")
        }
        var actions = Actions()
        var piece = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {       // bounded by the text's length
            open.append(scalar)
            piece.append(scalar)
            openCount += 1
            if openCount == windowCharacters {
                unreleased.append((nextIndex, piece))
                piece = String.UnicodeScalarView()
                actions.classify.append(closeWindow(isLast: false))
            }
        }
        if !piece.isEmpty { unreleased.append((nextIndex, piece)) }
        actions.release = releaseReady()
        return actions
    }

    /// The upstream ended: the open window (if any) is the last.
    public mutating func finish() -> Actions {
        switch state {
        case .streaming: break
        case .cut, .done: return Actions()
        case .finishing: preconditionFailure("HookStreamWindow.finish called twice")
        }
        var actions = Actions()
        if openCount > 0 { actions.classify.append(closeWindow(isLast: true)) }
        state = .finishing
        actions.release = releaseReady()
        if allowedPrefix == nextIndex { state = .done; actions.done = true }
        return actions
    }

    /// The hooks' decision for window `index`. `block` cuts the stream; any other decision
    /// lets the window pass (flags are the proxy's to record).
    public mutating func receive(_ decision: Decision, for index: Int) -> Actions {
        switch state {
        case .streaming, .finishing: break
        case .cut, .done: return Actions()      // verdicts still in flight after a cut
        }
        precondition(index >= 0 && index < nextIndex, "HookStreamWindow: verdict for window \(index), which was never handed out (state \(state))")
        precondition(index >= allowedPrefix && !allowedAhead.contains(index), "HookStreamWindow: second verdict for window \(index)")
        if decision == .block {
            state = .cut(window: index)
            unreleased.removeAll()
            return Actions(cut: true)
        }
        allowedAhead.insert(index)
        while allowedAhead.remove(allowedPrefix) != nil { allowedPrefix += 1 }     // bounded by nextIndex
        var actions = Actions()
        actions.release = releaseReady()
        if state == .finishing && allowedPrefix == nextIndex { state = .done; actions.done = true }
        return actions
    }

    // MARK: Internals

    private mutating func closeWindow(isLast: Bool) -> Window {
        let window = Window(index: nextIndex, text: String(open), context: String(context), isLast: isLast)
        if contextCharacters > 0 {
            var tail = context
            tail.append(contentsOf: open)
            context = String.UnicodeScalarView(tail.suffix(contextCharacters))
        }
        open = String.UnicodeScalarView()
        openCount = 0
        nextIndex += 1
        return window
    }

    /// Pops the text whose window may flow: window `j` once windows `0..<j + 1 - lag` are safe.
    private mutating func releaseReady() -> String {
        var out = String.UnicodeScalarView()
        var taken = 0
        for piece in unreleased {
            guard piece.window < allowedPrefix + lag else { break }
            out.append(contentsOf: piece.text)
            taken += 1
        }
        unreleased.removeFirst(taken)
        return String(out)
    }
}
