//! The dashboard benchmark: page times at 5,000 checks (the measurement lands in the next change).
fn main() {}
