//! Typed errors for every backend. Separate variants exist only for what a caller can act on:
//! shrink a batch (`OutOfMemory`), fall back to another backend (`Unavailable`, `Unsupported`),
//! or report a bug in its own input (`InvalidInput`).

/// An error from a kernel backend.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum KernelError {
    /// The backend exists as a name but is not built yet, or not compiled into this binary.
    #[error("backend `{backend}` is not supported: {reason}")]
    Unsupported {
        /// Backend name as configured (`cpu`, `wgpu`, `cuda`).
        backend: String,
        /// Why, in words a user can act on.
        reason: String,
    },
    /// The backend is built but no usable device was found.
    #[error("backend `{backend}` is unavailable: {reason}")]
    Unavailable {
        /// Backend name.
        backend: String,
        /// Why.
        reason: String,
    },
    /// The device cannot hold what was asked of it.
    #[error("out of device memory: requested {requested} bytes, {available} available")]
    OutOfMemory {
        /// Bytes the operation needed.
        requested: u64,
        /// Bytes the device had free.
        available: u64,
    },
    /// Kernel source failed to compile for the device.
    #[error("kernel compilation failed:\n{log}")]
    Compile {
        /// The compiler's log.
        log: String,
    },
    /// The caller passed inputs that violate the operation's contract (lengths, sizes).
    #[error("invalid kernel input: {0}")]
    InvalidInput(String),
}
