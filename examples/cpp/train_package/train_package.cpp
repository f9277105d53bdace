// Trains a small classifier built from rectifiers::nn modules on a fixed
// synthetic data set (three interleaved spirals in the plane), prints the loss
// as it falls, saves the model with torch::save, loads it into a freshly built
// model and checks that the two give the same outputs.
//
//   train_package [--steps N] [--out MODEL.pt]
//
// Exit status 0 only if the loss fell to under half its start, the model fits
// the training points, and the reloaded model matches; 1 otherwise.
#include <torch/torch.h>

#include <rectifiers/nn.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

namespace {

namespace rnn = rectifiers::nn;

constexpr int64_t kClasses = 3;
constexpr int64_t kPointsPerClass = 100;

// Every rectifiers::nn module in one MLP: 2 inputs -> 3 class scores.
torch::nn::Sequential MakeModel() {
  return torch::nn::Sequential(
      rnn::MaxoutLinear(2, 32, 3),  // 32 maxout units of 3 pieces each
      rnn::PReLU(rnn::PReLUOptions().num_parameters(32)),
      torch::nn::Linear(32, 64),
      rnn::LeakyReLU(rnn::LeakyReLUOptions().negative_slope(0.1)),
      rnn::Maxout(2),  // 64 -> 32 along dim 1
      torch::nn::Linear(32, 32),
      rnn::AbsRectifier(),
      torch::nn::Linear(32, 32),
      rnn::ReLU(true),
      torch::nn::Linear(32, 32),
      rnn::ELU(rnn::ELUOptions().alpha(0.5)),
      torch::nn::Linear(32, 32),
      rnn::CELU(rnn::CELUOptions().alpha(0.5)),
      torch::nn::Linear(32, 32),
      rnn::SELU(),
      torch::nn::Linear(32, 32),
      // Random slopes while training; their mean once model->eval() is called,
      // so the saved and reloaded models are compared without noise.
      rnn::RReLU(rnn::RReLUOptions().lower(0.1).upper(0.3)),
      torch::nn::Linear(32, 32),
      rnn::ReLU6(),
      torch::nn::Linear(32, kClasses));
}

// Class c's points lie on an arm of a spiral, turned by c/3 of a circle, with
// a little noise: not linearly separable, easy for a small MLP.
std::pair<torch::Tensor, torch::Tensor> Spirals() {
  auto r = torch::linspace(0.05, 1.0, kPointsPerClass);
  std::vector<torch::Tensor> points, labels;
  for (int64_t c = 0; c < kClasses; ++c) {
    auto angle = r * 4.0 + 2.0 * M_PI * c / kClasses + torch::randn({kPointsPerClass}) * 0.1;
    points.push_back(torch::stack({r * torch::sin(angle), r * torch::cos(angle)}, 1));
    labels.push_back(torch::full({kPointsPerClass}, c, torch::kLong));
  }
  return {torch::cat(points), torch::cat(labels)};
}

}  // namespace

int main(int argc, char** argv) {
  int steps = 300;
  std::string out = "train_package_model.pt";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--steps" && i + 1 < argc) {
      steps = std::atoi(argv[++i]);
    } else if (arg == "--out" && i + 1 < argc) {
      out = argv[++i];
    } else {
      std::cerr << "usage: " << argv[0] << " [--steps N] [--out MODEL.pt]\n";
      return 2;
    }
  }
  // The model is tiny: more threads only add overhead (and nondeterminism).
  torch::set_num_threads(1);
  torch::manual_seed(0);

  try {
    const auto [x, y] = Spirals();
    auto model = MakeModel();
    std::cout << "train_package: " << x.size(0) << " points, " << kClasses << " classes\n"
              << *model << "\n";

    torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(0.01));
    double first_loss = 0, loss_value = 0;
    for (int step = 0; step <= steps; ++step) {
      auto loss = torch::nn::functional::cross_entropy(model->forward(x), y);
      loss_value = loss.item<double>();
      if (step == 0) first_loss = loss_value;
      if (step % 50 == 0 || step == steps) std::printf("step %4d  loss %.4f\n", step, loss_value);
      if (step == steps) break;
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
    }

    model->eval();
    torch::NoGradGuard no_grad;
    const auto scores = model->forward(x);
    const double accuracy = scores.argmax(1).eq(y).to(torch::kDouble).mean().item<double>();
    std::printf("accuracy %.4f\n", accuracy);

    torch::save(model, out);
    torch::manual_seed(1);  // a model that differs until loaded
    auto reloaded = MakeModel();
    const bool differed = !torch::equal(reloaded->forward(x), scores);
    torch::load(reloaded, out);
    reloaded->eval();
    const double difference = (reloaded->forward(x) - scores).abs().max().item<double>();
    std::printf("saved %s; reloaded: max |difference| %g\n", out.c_str(), difference);

    bool ok = true;
    if (!(loss_value < 0.5 * first_loss)) {
      std::printf("FAIL: the loss did not fall to half (%.4f -> %.4f)\n", first_loss, loss_value);
      ok = false;
    }
    if (!(accuracy >= 0.9)) {
      std::printf("FAIL: training accuracy %.4f < 0.9\n", accuracy);
      ok = false;
    }
    if (!differed || difference != 0) {
      std::printf("FAIL: the reloaded model does not reproduce the saved one\n");
      ok = false;
    }
    std::printf("%s\n", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "train_package: " << e.what() << "\n";
    return 1;
  }
}
