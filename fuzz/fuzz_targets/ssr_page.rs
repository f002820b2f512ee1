//! The chat page rendered on the server with arbitrary text as the session title and in every
//! text-bearing entry: the page must parse (html5ever) into the same elements as a harmless page
//! of the same shape, with one `<title>` holding the title and every entry holding the text
//! exactly. The checks are the property test's (`server/tests/support/ssr_page.rs`), included by
//! path so the two never drift apart.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../server/tests/support/ssr_page.rs"]
mod ssr_page;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    // The first line names the session; the whole input is the text (so titles and texts vary
    // independently as the fuzzer mutates).
    let title = input.split('\n').next().unwrap_or_default();
    if let Err(e) = ssr_page::check_text_blocking(title, input) {
        panic!("{e}");
    }
});
