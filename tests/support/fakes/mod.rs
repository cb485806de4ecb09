//! Local stand-ins for the outside world, speaking the real protocols: an SMTP server and the
//! SMS providers' HTTP APIs (checking authentication and signatures as the real ones do).

pub mod sms;
pub mod smtp;
