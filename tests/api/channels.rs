//! Delivery channels against real peers (being written).
