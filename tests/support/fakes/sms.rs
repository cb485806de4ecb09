//! Fake SMS providers (Twilio, Aliyun, Tencent) on loopback.
