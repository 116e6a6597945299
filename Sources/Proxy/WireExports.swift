// The wire formats (JSON, SSE) live in their own module, with no networking in it.
@_exported import Wire
