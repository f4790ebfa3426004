// zkq CUDA sources — portability layer.
//
// Every header below is compiled twice: by NVRTC for the GPU (at run time, see
// kernels/src/cuda/compile.rs) and by the host C++ compiler for the test suite (kernels/build.rs,
// through the `cc` crate), so CI checks the arithmetic and the kernels' index math without a GPU.
// NVRTC compiles device code only: no standard headers here, our own fixed-width types.
#pragma once

#if defined(__CUDACC_RTC__) || defined(__CUDACC__)
#define ZKQ_CUDA 1
#define ZKQ_HD __host__ __device__ __forceinline__
#define ZKQ_RESTRICT __restrict__
#define ZKQ_UNROLL _Pragma("unroll")
#else
#define ZKQ_CUDA 0
#define ZKQ_HD inline
#define ZKQ_RESTRICT
#define ZKQ_UNROLL
#endif

// The PTX carry-chain path is taken only in the device pass of a CUDA compile, and only when
// ZKQ_PORTABLE_CARRY is not defined (the backend can compile the portable path for the GPU too,
// to tell an arithmetic bug from a carry-chain bug).
#if defined(__CUDA_ARCH__) && !defined(ZKQ_PORTABLE_CARRY)
#define ZKQ_PTX 1
#else
#define ZKQ_PTX 0
#endif

typedef unsigned int u32;
typedef unsigned long long u64;
typedef int i32;
