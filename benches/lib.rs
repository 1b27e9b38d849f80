//! Criterion benchmarks for Eyrie live beside this file (none yet).
