//! A hook payload as the relay endpoint receives it from a hook process: the size and nesting
//! limits, then JSON. Must never panic or overflow the stack, whatever the nesting.
#![no_main]

use codex_webchat::hook::registry::parse_payload;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = parse_payload(data) {
        // What was accepted is JSON; printing it walks the whole (depth-limited) tree.
        let _ = value.to_string();
    }
});
