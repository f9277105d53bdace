// Runs a TorchScript model saved from Python that calls torch.ops.rectifiers.*
// on a saved input and writes the output:
//
//   run_scripted MODEL.pt INPUT.pt OUTPUT.pt
//
// INPUT.pt and OUTPUT.pt hold one tensor each (Python's torch.save of a plain
// tensor; torch.load reads OUTPUT.pt back). Nothing here comes from
// rectifiers' headers, on purpose: a program that links
// rectifiers::rectifiers gets the ops registered without calling into the
// library.
#include <torch/script.h>
#include <torch/serialize.h>

#include <fstream>
#include <iostream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

std::vector<char> ReadBytes(const std::string& path) {
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
    const auto input = torch::pickle_load(ReadBytes(argv[2])).toTensor();
    torch::NoGradGuard no_grad;
    const auto output = model.forward({input}).toTensor();
    const auto bytes = torch::pickle_save(output);
    std::ofstream out(argv[3], std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error(std::string("cannot write ") + argv[3]);
    std::cout << "run_scripted: " << argv[1] << " -> output " << output.sizes() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "run_scripted: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
