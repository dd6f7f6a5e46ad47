//! The interchange format.
