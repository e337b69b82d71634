//! Both crates in one build (Cargo unions their features of stream-core): each one's code
//! still compiles and works.

fn main() {
    let (mut w, mut r) = listener_only::async_pipe();
    let t = std::thread::spawn(move || r.recv());
    assert!(listener_only::send_async(&mut w, 7));
    assert_eq!(t.join().unwrap(), Ok(7));

    let (mut w, mut r) = listener_only::default_pipe();
    let t = std::thread::spawn(move || r.recv());
    w.send(8).unwrap();
    assert_eq!(t.join().unwrap(), Ok(8));

    let (mut w, mut r) = spin_futex::spin_pipe();
    let t = std::thread::spawn(move || r.recv());
    w.send(9).unwrap();
    assert_eq!(t.join().unwrap(), Ok(9));

    let (mut w, mut r) = spin_futex::default_pipe();
    let t = std::thread::spawn(move || r.recv());
    w.send(10).unwrap();
    assert_eq!(t.join().unwrap(), Ok(10));
    println!("feature union: 4 streams ok");
}
