//! `.npy` / `.npz` reading and writing of host tensors.
