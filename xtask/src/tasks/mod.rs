//! One module per `cargo xtask` command; each is a plain function.

pub mod bench;
pub mod bundle;
pub mod dev;
pub mod fuzz;
pub mod results;
pub mod run;
pub mod soak;
pub mod test;
