// Loads an AOTInductor package compiled in Python from a model that uses
// torch.ops.rectifiers (torch._inductor.aoti_compile_and_package), runs it on
// a saved input, and writes the output, so the tests can compare it with
// Python's.
//
//   load_aoti MODEL.pt2 INPUT.pt OUTPUT.pt
//
// INPUT.pt / OUTPUT.pt hold one tensor each, as for load_scripted. The
// package's compiled code calls the ops Inductor kept as ours (maxout's
// forward, RReLU's training mode) through the dispatcher: it finds them
// because this program links rectifiers::rectifiers, which keeps the library
// loaded although nothing here calls it. Without it, loading fails with
// "Could not find schema for rectifiers::maxout".
#include <torch/csrc/inductor/aoti_package/model_package_loader.h>
#include <torch/serialize.h>
#include <torch/torch.h>

#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// c10::Error's what() carries a C++ backtrace: the message is enough here.
std::string message(const std::exception& e) {
  if (const auto* error = dynamic_cast<const c10::Error*>(&e)) return error->what_without_backtrace();
  return e.what();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: " << argv[0] << " MODEL.pt2 INPUT.pt OUTPUT.pt\n";
    return 2;
  }
  std::unique_ptr<torch::inductor::AOTIModelPackageLoader> loader;
  try {
    loader = std::make_unique<torch::inductor::AOTIModelPackageLoader>(argv[1]);
  } catch (const std::exception& e) {
    std::cerr << "load_aoti: cannot load " << argv[1] << ": " << message(e) << "\n";
    return 1;
  }
  try {
    const auto input = torch::pickle_load(read_bytes(argv[2])).toTensor();
    torch::NoGradGuard no_grad;
    const auto outputs = loader->run({input});
    if (outputs.size() != 1) {
      throw std::runtime_error("expected a model with one output, got " +
                               std::to_string(outputs.size()));
    }
    const auto bytes = torch::pickle_save(outputs[0]);
    std::ofstream out(argv[3], std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error(std::string("cannot write ") + argv[3]);
    std::cout << "load_aoti: " << argv[1] << " -> output " << outputs[0].sizes() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "load_aoti: " << message(e) << "\n";
    return 1;
  }
  return 0;
}
