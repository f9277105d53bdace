#include "mask.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <numeric>
#include <string>

#include "checks.h"

namespace rectifiers::mask {

Outputs outputs_for(const at::Tensor& x, int64_t planes) {
  auto result = x.is_non_overlapping_and_dense()
                    ? at::empty_like(x)
                    : at::empty_symint(x.sym_sizes(), x.options());
  const c10::SymInt words = (x.sym_numel() + (kBitsPerWord - 1)) / kBitsPerWord;
  auto mask = at::empty_symint({words * planes}, x.options().dtype(at::kInt));
  return {std::move(result), std::move(mask)};
}

at::Tensor dense(const at::Tensor& x) {
  return x.is_non_overlapping_and_dense() ? x : x.contiguous();
}

namespace {

// Whether strides lay out a tensor of `sizes` densely (every element once,
// no gaps), as the result's strides always do.
bool dense_layout(at::IntArrayRef sizes, at::IntArrayRef strides) {
  if (std::find(sizes.begin(), sizes.end(), 0) != sizes.end()) return true;  // nothing to lay out
  std::vector<int64_t> dims(sizes.size());
  std::iota(dims.begin(), dims.end(), 0);
  std::stable_sort(dims.begin(), dims.end(),
                   [&](int64_t a, int64_t b) { return strides[a] < strides[b]; });
  int64_t expected = 1;
  for (const auto d : dims) {
    if (sizes[d] == 1) continue;
    if (strides[d] != expected) return false;
    expected *= sizes[d];
  }
  return true;
}

}  // namespace

at::Tensor grad_output_for(const char* op, const at::Tensor& grad, const at::Tensor& mask,
                           at::IntArrayRef mask_sizes, at::IntArrayRef mask_strides,
                           int64_t planes, bool as_grad_output) {
  checks::floating(op, grad, "grad_output");
  checks::strided(op, mask, "mask");
  TORCH_CHECK(mask.scalar_type() == at::kInt && mask.dim() == 1, "rectifiers::", op,
              ": mask must be a 1-dim int32 tensor (the forward's mask), but got a ", mask.dim(),
              "-dim ", mask.scalar_type(), " tensor");
  TORCH_CHECK(mask.device() == grad.device(), "rectifiers::", op,
              ": mask must be on grad_output's device (", grad.device(), "), but is on ",
              mask.device());
  TORCH_CHECK(mask_strides.size() == mask_sizes.size(), "rectifiers::", op,
              ": mask_strides must have one stride per dim of mask_sizes ", mask_sizes,
              ", but got ", mask_strides);
  TORCH_CHECK(static_cast<int64_t>(mask_sizes.size()) == grad.dim(), "rectifiers::", op,
              ": mask_sizes ", mask_sizes, " (the forward's) are not grad_output's sizes ",
              grad.sym_sizes());
  if (grad.unsafeGetTensorImpl()->has_symbolic_sizes_strides() ||
      mask.unsafeGetTensorImpl()->has_symbolic_sizes_strides()) {
    // traced (torch.compile): the values are checked where the op runs
    if (as_grad_output && grad.is_non_overlapping_and_dense()) return at::empty_like(grad);
    std::vector<c10::SymInt> strides(mask_strides.begin(), mask_strides.end());
    return at::empty_strided_symint(grad.sym_sizes(), strides, grad.options());
  }
  TORCH_CHECK(grad.sizes() == mask_sizes, "rectifiers::", op, ": mask_sizes ", mask_sizes,
              " (the forward's) are not grad_output's sizes ", grad.sizes());
  TORCH_CHECK(mask.numel() == planes * words_for(grad.numel()), "rectifiers::", op,
              ": mask has ", mask.numel(), " words, but grad_output's ", grad.numel(),
              " elements need ", planes * words_for(grad.numel()),
              planes > 1 ? " (" + std::to_string(planes) + " bits each)" : std::string());
  TORCH_CHECK(dense_layout(grad.sizes(), mask_strides), "rectifiers::", op, ": mask_strides ",
              mask_strides, " are not a dense layout of grad_output's sizes ", grad.sizes());
  if (as_grad_output && grad.is_non_overlapping_and_dense()) return at::empty_like(grad);
  return at::empty_strided(grad.sizes(), mask_strides, grad.options());
}

bool any_in_plane(const at::Tensor& mask, int64_t planes, int64_t plane) {
  TORCH_INTERNAL_ASSERT(mask.is_cpu() && mask.is_contiguous() && mask.numel() % planes == 0);
  const int64_t words = mask.numel() / planes;
  const auto* begin = mask.const_data_ptr<int32_t>() + plane * words;
  return std::any_of(begin, begin + words, [](int32_t w) { return w != 0; });
}

at::Tensor without_plane(const at::Tensor& mask, int64_t planes, int64_t plane) {
  auto copy = mask.clone();
  const int64_t words = mask.numel() / planes;
  copy.narrow(0, plane * words, words).zero_();
  return copy;
}

bool laid_out_by(const at::Tensor& t, at::IntArrayRef strides) {
  for (int64_t d = 0; d < t.dim(); ++d) {
    if (t.size(d) != 1 && t.stride(d) != strides[d]) return false;
  }
  return t.is_non_overlapping_and_dense();
}

void run_in_mask_order(const at::Tensor& out, at::IntArrayRef mask_strides,
                       c10::function_ref<void(const at::Tensor&)> run) {
  if (laid_out_by(out, mask_strides)) {
    run(out);
    return;
  }
  auto ordered = at::empty_strided(out.sizes(), mask_strides, out.options());
  run(ordered);
  out.copy_(ordered);
}

at::Tensor in_mask_order(const at::Tensor& grad, at::IntArrayRef mask_strides) {
  if (laid_out_by(grad, mask_strides)) return grad;
  auto ordered = at::empty_strided(grad.sizes(), mask_strides, grad.options());
  ordered.copy_(grad);
  return ordered;
}

}  // namespace rectifiers::mask
