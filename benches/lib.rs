//! Criterion benchmarks for Eyrie live beside this file; see `README.md`.
