// What every op's Autograd kernel (ops/autograd/<op>_kernel.cpp) shares.
//
// The kernels are written as PyTorch's generated VariableType kernels are: a
// torch::autograd::Node per call that holds the saved tensors and the
// backward formula, wired to the inputs' grad_fns, plus a forward-mode
// formula for the tangents. Unlike torch::autograd::Function, which refuses
// functorch on purpose and has no forward-mode formula, this works under
// torch.func (grad, vjp, jacrev, jvp, jacfwd, hessian) and
// torch.autograd.forward_ad. Every formula calls ops through the dispatcher,
// so each derivative is itself differentiable (higher orders, forward over
// reverse). In C++, so that a model loaded from C++ trains without Python.
#pragma once

#include <ATen/ATen.h>
#include <torch/csrc/autograd/VariableTypeUtils.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/functions/utils.h>
#include <torch/csrc/autograd/saved_variable.h>
#include <torch/csrc/dynamo/compiled_autograd.h>
#include <torch/csrc/jit/frontend/tracer.h>
#include <torch/library.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <initializer_list>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "checks.h"

namespace rectifiers::autograd {

using at::Tensor;
using torch::autograd::variable_list;

// ---------------------------------------------------------------- the node

// The op's arguments a formula needs besides tensors (slopes, flags, sizes),
// as IValues (double, int or bool): compiled autograd keys its cache on
// them and passes them to the formula it records, as it does with the
// scalars of torch's own nodes.
using Attributes = std::vector<c10::IValue>;

// A backward formula: the incoming gradients (one per differentiable output,
// some undefined), the saved tensors, which inputs need a gradient and the
// attributes. It returns one gradient per differentiable input, undefined
// meaning zero. A plain function, so that compiled autograd can call it
// again from what the node hands it.
struct Backward {
  const variable_list& grads;
  const std::vector<Tensor>& saved;
  const std::vector<bool>& needed;
  const Attributes& attributes;
  // The node's edges to its inputs' histories (none where compiled autograd
  // calls the formula): a formula that records a double-backward node with
  // an edge to an input it did not save connects it through these.
  const torch::autograd::edge_list& edges;

  double real(size_t i) const { return attributes[i].toDouble(); }
  int64_t integer(size_t i) const { return attributes[i].toInt(); }
  bool flag(size_t i) const { return attributes[i].toBool(); }
  std::vector<int64_t> integers(size_t i) const { return attributes[i].toIntVector(); }
  torch::autograd::Edge edge(size_t i) const {
    return i < edges.size() ? edges[i] : torch::autograd::Edge();
  }
};
using Formula = variable_list (*)(const Backward&);

// What apply and compiled autograd's recorded call share: no gradient to
// propagate or none needed gives undefined gradients without running the
// formula, and gradients not needed are dropped.
inline variable_list run_formula(const char* name, Formula formula, const variable_list& grads,
                                 const std::vector<Tensor>& saved, const std::vector<bool>& needed,
                                 const Attributes& attributes,
                                 const torch::autograd::edge_list& edges) {
  const bool any_needed = std::any_of(needed.begin(), needed.end(), [](bool n) { return n; });
  const bool any_grad = std::any_of(grads.begin(), grads.end(),
                                    [](const Tensor& g) { return g.defined(); });
  if (!any_needed || !any_grad) return variable_list(needed.size());
  auto out = formula(Backward{grads, saved, needed, attributes, edges});
  TORCH_INTERNAL_ASSERT(out.size() == needed.size(), name, " returned ", out.size(),
                        " gradient(s) for ", needed.size(), " input(s)");
  for (size_t i = 0; i < out.size(); ++i) {
    if (!needed[i]) out[i] = Tensor();
  }
  return out;
}

class FormulaNode final : public torch::autograd::TraceableFunction {
 public:
  FormulaNode(const char* name, Formula formula, Attributes attributes)
      : name_(name), formula_(formula), attributes_(std::move(attributes)) {}

  std::string name() const override { return name_; }

  void save(const Tensor& t, bool is_output, bool is_inplace_on_view = false) {
    saved_.emplace_back(t, is_output, is_inplace_on_view);
    saved_is_output_.push_back(is_output);
  }

  variable_list apply(variable_list&& grads) override {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<Tensor> saved;
    saved.reserve(saved_.size());
    for (const auto& s : saved_) saved.push_back(s.unpack(getptr()));
    return run_formula(name_, formula_, grads, saved, needed(), attributes_, next_edges());
  }

  void release_variables() override {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& s : saved_) s.reset_data();
  }

  // Compiled autograd: what its cache keys on. The attributes are
  // specialized on, as torch's nodes specialize on their Scalars.
  void compiled_args(torch::dynamo::autograd::CompiledNodeArgs& args) const override {
    args.collect(std::string(name_));
    args.collect_size(saved_.size());
    for (size_t i = 0; i < saved_.size(); ++i) args.collect(saved_[i], saved_is_output_[i]);
    args.collect_size(attributes_.size());
    for (const auto& a : attributes_) {
      if (a.isDouble()) {
        args.collect(a.toDouble());
      } else if (a.isInt()) {
        args.collect(a.toInt());
      } else if (a.isIntList()) {
        args.collect(a.toIntVector());
      } else {
        TORCH_INTERNAL_ASSERT(a.isBool(), name_,
                              ": an attribute is not a double, int, int list or bool");
        args.collect(a.toBool());
      }
    }
  }

  // Compiled autograd: records one call of this node's formula, as a
  // function of the gradients, the saved tensors (swapped for the graph's
  // proxies), which inputs need a gradient and the attributes. The function
  // is bound once per node name and calls our ops through the dispatcher, so
  // the compiled backward graph holds them.
  variable_list apply_with_saved(const variable_list& grads,
                                 torch::dynamo::autograd::SwapSavedVariables& swap) override {
    for (auto& s : saved_) swap.before(s);
    std::vector<Tensor> saved;
    saved.reserve(saved_.size());
    for (const auto& s : saved_) saved.push_back(s.unpack(getptr()));
    torch::dynamo::autograd::PackedArgs packed;
    packed.pack(saved);
    packed.pack(needed());
    for (const auto& a : attributes_) packed.pack(a);
    const auto args = std::move(packed).vec();

    const auto& interface = torch::dynamo::autograd::getPyCompilerInterface();
    const std::string function_name = bind_once(interface, swap.get_py_compiler(), args);
    const auto output_metadata = torch::dynamo::autograd::IValuePacker<
        std::vector<std::optional<torch::autograd::InputMetadata>>>::
        pack(torch::dynamo::autograd::get_input_metadata(next_edges()));
    auto results = interface->call_function(swap.get_py_compiler(), "apply_functional",
                                            function_name, grads, args, output_metadata);
    for (auto& s : saved_) swap.after(s);
    return results;
  }

 private:
  std::vector<bool> needed() const {
    std::vector<bool> needed(num_outputs());
    for (size_t i = 0; i < needed.size(); ++i) needed[i] = task_should_compute_output(i);
    return needed;
  }

  // The name compiled autograd knows this node's formula by, bound on first
  // use: rectifiers_<node name>, numbered where one node name has several
  // formulas (an op that saves its input or a mask).
  std::string bind_once(const std::unique_ptr<torch::dynamo::autograd::PyCompilerInterface>& interface,
                        PyObject* py_compiler, const std::vector<c10::IValue>& args) const {
    static std::mutex mutex;
    static std::unordered_map<Formula, std::string> bound;
    static std::unordered_map<std::string, int> formulas_named;
    std::lock_guard<std::mutex> lock(mutex);
    const auto found = bound.find(formula_);
    if (found != bound.end()) return found->second;
    std::string function_name = std::string("rectifiers_") + name_;
    const int earlier = formulas_named[function_name]++;
    if (earlier > 0) function_name += "_" + std::to_string(earlier);
    std::vector<at::TypePtr> schema;
    schema.reserve(args.size());
    for (const auto& a : args) schema.push_back(a.isTensor() ? at::TensorType::get() : a.type());
    const char* name = name_;
    const Formula formula = formula_;
    interface->bind_function(
        py_compiler, function_name,
        [name, formula](const variable_list& grads, const std::vector<c10::IValue>& args) {
          torch::dynamo::autograd::PackedArgs packed(args);
          const auto saved = packed.unpack<std::vector<Tensor>>();
          const auto needed = packed.unpack<std::vector<bool>>();
          const Attributes attributes(args.begin() + 2, args.end());
          return run_formula(name, formula, grads, saved, needed, attributes, {});
        },
        schema, /*is_custom_function=*/false, /*is_traceable=*/true);
    bound.emplace(formula_, function_name);
    return function_name;
  }

  const char* name_;
  Formula formula_;
  Attributes attributes_;
  std::vector<torch::autograd::SavedVariable> saved_;
  std::vector<bool> saved_is_output_;
};

// torch 2.13 holds a Node in a c10::intrusive_ptr, torch 2.11 in a
// std::shared_ptr made with deleteNode. The base class says which, whatever
// the version; deleteNode is found by argument-dependent lookup, so the
// branch that does not apply is never looked up.
template <typename N, typename... Args>
auto make_node(Args&&... args) {
  if constexpr (std::is_base_of_v<c10::intrusive_ptr_target, N>) {
    return c10::make_intrusive<N>(std::forward<Args>(args)...);
  } else {
    return std::shared_ptr<N>(new N(std::forward<Args>(args)...),
                              [](N* node) { deleteNode(node); });
  }
}
using NodePtr = decltype(make_node<FormulaNode>("", Formula(), Attributes()));

// The reverse-mode half of one call: a node only where autograd records
// (grad mode on and a differentiable input requiring grad), else nothing, so
// a call with nothing to differentiate builds no graph.
class Graph {
 public:
  Graph(const char* name, std::initializer_list<Tensor> inputs, Formula formula,
        Attributes attributes = {}) {
    if (!at::GradMode::is_enabled()) return;
    const bool requires_grad = std::any_of(inputs.begin(), inputs.end(), [](const Tensor& t) {
      return t.defined() && t.requires_grad();
    });
    if (!requires_grad) return;
    node_ = make_node<FormulaNode>(name, formula, std::move(attributes));
    node_->set_next_edges(torch::autograd::collect_next_edges(variable_list(inputs)));
  }

  // The same with the edges given, for an input that was not kept (a mask
  // formula's double backward connects to the forward's input so).
  Graph(const char* name, torch::autograd::edge_list edges, Formula formula,
        Attributes attributes = {}) {
    if (!at::GradMode::is_enabled()) return;
    const bool requires_grad = std::any_of(
        edges.begin(), edges.end(), [](const torch::autograd::Edge& e) { return e.is_valid(); });
    if (!requires_grad) return;
    node_ = make_node<FormulaNode>(name, formula, std::move(attributes));
    node_->set_next_edges(std::move(edges));
  }

  bool records() const { return static_cast<bool>(node_); }

  // An input the formula reads: saved before the op runs, so that a later
  // in-place change of it is caught.
  void save_input(const Tensor& t) {
    if (node_) node_->save(t, /*is_output=*/false);
  }
  // The differentiable outputs, in the order of the formula's grads.
  void set_outputs(const variable_list& outputs) {
    if (node_) torch::autograd::set_history(outputs, node_);
  }
  void save_output(const Tensor& t) {
    if (node_) node_->save(t, /*is_output=*/true);
  }
  // An in-place op: self's history now starts at this node, and the formula
  // reads self as it is after the op.
  void rebase_and_save(const Tensor& self) {
    if (!node_) return;
    torch::autograd::rebase_history(self, node_);
    node_->save(self, /*is_output=*/true, /*is_inplace_on_view=*/self.is_view());
  }

 private:
  NodePtr node_;
};

// Where a tensor's gradient goes (nowhere, if it does not require one).
inline torch::autograd::Edge edge_of(const Tensor& t) {
  return t.defined() && t.requires_grad() ? torch::autograd::impl::gradient_edge(t)
                                          : torch::autograd::Edge();
}

// ------------------------------------------------------------ saving masks

// Whether an op may save a packed mask of x instead of x (common/mask.h):
// only for a plain tensor in eager autograd. Where something other than our
// kernels reads the saved tensors or the ops called (the tracing of
// torch.compile and torch.export, the TorchScript tracer, torch.func's
// transforms, tensor subclasses such as DTensor, dispatch modes), the op
// saves what torch saves and calls what torch calls, so nothing there changes.
inline bool saves_mask(const Tensor& x) {
  const c10::DispatchKeySet traced({c10::DispatchKey::Python, c10::DispatchKey::PythonTLSSnapshot,
                                    c10::DispatchKey::Functionalize,
                                    c10::DispatchKey::FuncTorchBatched,
                                    c10::DispatchKey::FuncTorchGradWrapper,
                                    c10::DispatchKey::FuncTorchDynamicLayerFrontMode});
  if (x.key_set().has_any(traced)) return false;
  if (c10::impl::tls_local_dispatch_key_set().included_.has_any(traced)) return false;
  if (torch::jit::tracer::isTracing()) return false;
  return x.layout() == at::kStrided && !x.is_meta();
}

// -------------------------------------------------------------- forward mode

// The tangent torch.func.jvp / forward_ad attached to t (undefined if none).
inline Tensor tangent(const Tensor& t) {
  return t.defined() ? t._fw_grad(/*level=*/0) : Tensor();
}

// t without its tangent, for the tangent formulas: a tangent computed from a
// primal that still carries one would carry one itself.
inline Tensor primal(const Tensor& t) {
  return t.defined() ? t._fw_primal(/*level=*/0) : t;
}

template <typename... Tensors>
bool any_tangent(const Tensors&... inputs) {
  return (torch::autograd::isFwGradDefined(inputs) || ...);
}

inline void set_tangent(const Tensor& output, const Tensor& t) {
  if (t.defined()) output._set_fw_grad(t, /*level=*/0, /*is_inplace_op=*/false);
}

// An in-place op updates self's tangent in place, as torch's in-place ops do.
inline void set_tangent_in_place(const Tensor& self, Tensor self_tangent, const Tensor& updated) {
  self_tangent.copy_(updated);
  self._set_fw_grad(self_tangent, /*level=*/0, /*is_inplace_op=*/true);
}

// Sums where only some terms are defined (an undefined tangent is zero).
inline Tensor add_defined(const Tensor& a, const Tensor& b) {
  if (!a.defined()) return b;
  if (!b.defined()) return a;
  return a + b;
}

// ------------------------------------------------------------------ checks

// The checks of VariableType's in-place kernels (can_mutate_inplace), made
// before writing so that a refused call leaves the input as it was.
inline void check_can_mutate(const char* op, const Tensor& x) {
  using torch::autograd::can_mutate_inplace_result;
  switch (torch::autograd::can_mutate_inplace(x, x.requires_grad())) {
    case can_mutate_inplace_result::success:
      return;
    case can_mutate_inplace_result::is_leaf:
      TORCH_CHECK(false, "rectifiers::", op,
                  ": a leaf Variable that requires grad is being used in an in-place operation");
    case can_mutate_inplace_result::view_of_leaf:
      TORCH_CHECK(false, "rectifiers::", op,
                  ": a view of a leaf Variable that requires grad is being used in an in-place "
                  "operation");
    case can_mutate_inplace_result::non_default_backward_view:
      // A view from a multi-output op, no_grad or a custom Function: the
      // error (or warning) is autograd's own, prefixed with the op.
      try {
        torch::autograd::handle_view_on_rebase(torch::autograd::impl::get_view_autograd_meta(x));
      } catch (const c10::Error& e) {
        TORCH_CHECK(false, "rectifiers::", op, ": ", e.what_without_backtrace());
      }
      return;
  }
}

// Autograd reads every input's device before the op's own checks run, so
// undefined and non-strided tensors are refused here, by name.
struct Input {
  const char* name;
  const Tensor& tensor;
};

inline void check_inputs(const char* op, std::initializer_list<Input> inputs) {
  for (const auto& input : inputs) checks::strided(op, input.tensor, input.name);
}

// ----------------------------------------------------------------- calling

// The op's own kernel, below autograd (the autograd of whatever it calls
// is this kernel's to record).
template <typename Call>
auto below_autograd(Call call) {
  at::AutoDispatchBelowADInplaceOrView guard;
  return call();
}

// An in-place op's kernel, below autograd but through its ADInplaceOrView
// kernel, which bumps the version as PyTorch's in-place ops do.
template <typename Call>
void in_place_below_autograd(Call call) {
  at::AutoDispatchBelowAutograd guard;
  call();
}

// The kernel for the ADInplaceOrView key of an in-place op: bump the version
// so that a backward that saved the old values fails loudly instead of
// using the new ones (also reached on its own where autograd is off but
// version counters still matter: a normal tensor inside inference_mode).
template <typename Call>
void in_place_bumping_version(Tensor& x, Call call) {
  {
    at::AutoDispatchBelowADInplaceOrView guard;
    call();
  }
  torch::autograd::impl::bump_version(x);
}

// A zero gradient that keeps the graph connected where torch's does (an
// input the formula is piecewise constant in: zeros, not "unused").
inline Tensor zeros_for(const Tensor& like) { return at::zeros_like(like); }

// The input's gradient from what an op saved instead of its input (a mask,
// and rrelu's state: b.saved): gradient(g) for grad_output g, tangent_of(t)
// for its tangent t. Under create_graph the gradient is recorded as the op's
// backward op is, with edges to grad_output and to the input, the latter
// this node's own (the input is not kept), and double_backward as formula.
template <typename Gradient, typename Tangent>
variable_list gradient_from_mask(const char* name, const Backward& b, Formula double_backward,
                                 Gradient gradient, Tangent tangent_of) {
  const auto& g = b.grads[0];
  Graph graph(name, {edge_of(g), b.edge(0)}, double_backward, b.attributes);
  for (const auto& t : b.saved) graph.save_input(t);
  auto grad_input = below_autograd([&] { return gradient(g); });
  graph.set_outputs({grad_input});
  if (any_tangent(g)) set_tangent(grad_input, tangent_of(tangent(g)));
  return {grad_input};
}

// A double_backward of gradient_from_mask: linear in grad_output, and a
// defined zero for the input (torch's second derivative there).
template <typename Gradient>
variable_list linear_with_zero_for_input(const Backward& b, Gradient gradient) {
  const auto& gg = b.grads[0];
  return {gradient(gg), b.needed.size() > 1 && b.needed[1] ? zeros_for(gg) : Tensor()};
}

}  // namespace rectifiers::autograd
