// Shared by the targets: the property every parser error must have.

/// Panics (a libFuzzer crash) unless `r` is `Ok` or an error of one line that starts with
/// `name` and is classed as bad input.
pub fn check<T>(name: &str, r: Result<T, zkq_engine::EngineError>) {
    if let Err(e) = r {
        let msg = e.to_string();
        assert!(!msg.contains('\n'), "multi-line error: {msg:?}");
        assert!(msg.starts_with(name), "error does not name its source: {msg:?}");
        assert!(msg.len() <= 400, "error of {} bytes: {msg:?}", msg.len());
        assert_eq!(e.class(), zkq_engine::ErrorClass::BadInput, "{msg}");
    }
}
