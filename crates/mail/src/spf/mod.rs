//! SPF (RFC 7208): record parsing with positions, macro expansion, `check_host()` evaluation and the static
//! analysis an audit reports (include tree, lookup counts, void lookups).
