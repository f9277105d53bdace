// Loads a TorchScript model saved from Python that uses torch.ops.rectifiers,
// runs it on a saved input, and writes the output, so the demo and the tests
// can compare it with Python's.
//
//   load_scripted MODEL.pt INPUT.pt OUTPUT.pt
//
// INPUT.pt / OUTPUT.pt hold one tensor each (torch::pickle_save format, i.e.
// what Python's torch.save of a plain tensor reads back with torch.load).
// Nothing here comes from rectifiers' headers, on purpose: a program that
// links rectifiers::rectifiers gets the ops registered without calling into
// the library (examples/cpp/train_package builds this file against the
// installed package for the same reason).
#include <torch/script.h>
#include <torch/serialize.h>

#include <fstream>
#include <iostream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: " << argv[0] << " MODEL.pt INPUT.pt OUTPUT.pt\n";
    return 2;
  }
  try {
    torch::jit::Module model = torch::jit::load(argv[1]);
    model.eval();
    const auto input = torch::pickle_load(read_bytes(argv[2])).toTensor();
    torch::NoGradGuard no_grad;
    const auto output = model.forward({input}).toTensor();
    const auto bytes = torch::pickle_save(output);
    std::ofstream out(argv[3], std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error(std::string("cannot write ") + argv[3]);
    std::cout << "load_scripted: " << argv[1] << " -> output " << output.sizes() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "load_scripted: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
