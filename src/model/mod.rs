//! The FSR model.
