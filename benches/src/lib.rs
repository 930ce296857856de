//! keel's criterion benchmarks live in `benches/`; this library is empty on purpose
//! (a package needs a target, and the benches share nothing but their dependencies).
