// abs_rectifier and abs_rectifier_backward under autograd (see
// common/autograd.h). The derivative is abs_rectifier_backward: sgn(x),
// 0 at 0, NaN at NaN, as torch.abs's.
#include "../../common/autograd.h"
#include "../../rectifiers.h"

namespace rectifiers::autograd {
namespace {

Tensor abs_rectifier(const Tensor& x) {
  check_inputs("abs_rectifier", {{"input", x}});
  Graph graph("AbsRectifierBackward", {x}, [](const Backward& b) -> variable_list {
    return {rectifiers::abs_rectifier_backward(b.grads[0], b.saved[0])};
  });
  graph.save_input(x);
  auto y = below_autograd([&] { return rectifiers::abs_rectifier(x); });
  graph.set_outputs({y});
  if (any_tangent(x)) set_tangent(y, rectifiers::abs_rectifier_backward(tangent(x), primal(x)));
  return y;
}

// Linear in grad; piecewise constant in self (zeros, as torch gives).
Tensor abs_rectifier_backward(const Tensor& g, const Tensor& x) {
  check_inputs("abs_rectifier_backward", {{"grad_output", g}, {"self", x}});
  Graph graph("AbsRectifierBackwardBackward", {g, x}, [](const Backward& b) -> variable_list {
    const auto& gg = b.grads[0];
    return {rectifiers::abs_rectifier_backward(gg, b.saved[0]),
            b.needed[1] ? zeros_for(gg) : Tensor()};
  });
  graph.save_input(x);
  auto out = below_autograd([&] { return rectifiers::abs_rectifier_backward(g, x); });
  graph.set_outputs({out});
  if (any_tangent(g, x)) {
    // sgn's tangent is zero, but torch's product rule still adds grad * 0,
    // which carries grad's sign into a zero tangent
    const auto tg = tangent(g);
    const auto from_x = any_tangent(x) ? primal(g) * zeros_for(out) : Tensor();
    set_tangent(out, add_defined(tg.defined() ? rectifiers::abs_rectifier_backward(tg, primal(x))
                                              : Tensor(),
                                 from_x));
  }
  return out;
}

}  // namespace
}  // namespace rectifiers::autograd

TORCH_LIBRARY_IMPL(rectifiers, Autograd, m) {
  using namespace rectifiers::autograd;
  m.impl("abs_rectifier", &abs_rectifier);
  m.impl("abs_rectifier_backward", &abs_rectifier_backward);
}
