//! The web console in headless Chromium (being written).
