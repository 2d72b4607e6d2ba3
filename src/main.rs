fn main() {
    println!("quadgen");
}
