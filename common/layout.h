/* layout: where the build puts what the server and the worker both look for, relative to
 * the binaries, so each finds it by itself with no option set. */
#ifndef BO_LAYOUT_H
#define BO_LAYOUT_H

/* libonnxruntime from make deps-onnx, relative to the worker's directory (the worker's own
 * default, and the server's for the workers it starts). */
#define LAYOUT_ORT_REL "/../deps/npm/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1"

#endif
