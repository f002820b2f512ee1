//! Codex's stdout as the JSON-RPC client reads it: arbitrary bytes, split into lines (with a small
//! line limit so over-long lines are exercised too), decoded into responses, notifications and
//! server requests. Must never panic, and must deliver nothing for input that is not JSON-RPC.
#![no_main]

use std::sync::OnceLock;

use codex_webchat::codex::rpc::{RpcClient, Undelivered};
use codex_webchat::codex::Inbound;
use libfuzzer_sys::fuzz_target;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    let input = std::io::Cursor::new(data.to_vec());
    runtime().block_on(async move {
        // Refusing every server request exercises the error-reply path as well.
        let sink = |_msg: Inbound| -> Result<(), Undelivered> { Err(Undelivered) };
        let (client, tasks) = RpcClient::spawn_with_limit(input, tokio::io::sink(), sink, 4096);
        tasks.reader.await.expect("the reader task never panics");
        client.close("fuzz input ended");
        tasks.writer.await.expect("the writer task never panics");
    });
});
