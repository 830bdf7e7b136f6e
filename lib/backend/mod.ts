/**
 * Backends: choosing and starting a tfjs backend, and the switch for the kernel overrides
 * that make training fast on wasm and webgpu (see docs/architecture.md, "Backends").
 *
 * @module
 */
export * from "./select.ts";
export { type FastKernelBackend, fastKernels, setFastKernels } from "./kernels.ts";
