// ef_step through TensorFlow Lite Micro, for mcucheck's harness: the project's int8 step file
// (int8 weights, int16 activations and state) with CMSIS-NN's kernels where TFLM has them
// (fully connected, mul, add) and TFLM's reference kernels for the rest. The harness's state is
// the step file's in float, model units; each step quantizes it in and dequantizes it out, as
// the runtime does with the same file.
#include <math.h>
#include <stdint.h>

#include "forecaster.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tflm_model.h"  // tflm_model[], the tensors' order and the arena's size

alignas(16) static uint8_t arena[TFLM_ARENA_BYTES];
static tflite::MicroInterpreter *interpreter;
extern "C" uint32_t tflm_arena_used;
uint32_t tflm_arena_used;

static int16_t quantize(float v, float scale) {
  float q = roundf(v / scale);
  return (int16_t)(q > 32767.0f ? 32767.0f : q < -32768.0f ? -32768.0f : q);
}

static void setup() {
  static tflite::MicroMutableOpResolver<8> resolver;  // the step file's eight operators
  resolver.AddQuantize();
  resolver.AddConcatenation();
  resolver.AddFullyConnected();
  resolver.AddSplit();
  resolver.AddLogistic();
  resolver.AddMul();
  resolver.AddTanh();
  resolver.AddAdd();
  static tflite::MicroInterpreter instance(tflite::GetModel(tflm_model), resolver, arena,
                                           sizeof arena);
  instance.AllocateTensors();
  tflm_arena_used = (uint32_t)instance.arena_used_bytes();
  interpreter = &instance;
}

extern "C" void ef_step(float state[EF_STATE_SIZE], float x, float out[EF_HORIZON]) {
  if (!interpreter) setup();
  TfLiteTensor *in_x = interpreter->input(TFLM_IN_X);
  TfLiteTensor *in_h = interpreter->input(TFLM_IN_H);
  TfLiteTensor *in_c = interpreter->input(TFLM_IN_C);
  in_x->data.i16[0] = quantize(x, in_x->params.scale);
  for (int j = 0; j < TFLM_UNITS; j++) {
    in_h->data.i16[j] = quantize(state[j], in_h->params.scale);
    in_c->data.i16[j] = quantize(state[TFLM_UNITS + j], in_c->params.scale);
  }
  interpreter->Invoke();
  const TfLiteTensor *y = interpreter->output(TFLM_OUT_Y);
  const TfLiteTensor *h = interpreter->output(TFLM_OUT_H);
  const TfLiteTensor *c = interpreter->output(TFLM_OUT_C);
  for (int j = 0; j < TFLM_UNITS; j++) {
    state[j] = h->data.i16[j] * h->params.scale;
    state[TFLM_UNITS + j] = c->data.i16[j] * c->params.scale;
  }
  for (int k = 0; k < EF_HORIZON; k++) out[k] = y->data.i16[k] * y->params.scale;
}

// Bare metal: no heap, no exceptions, no exit; what the C++ runtime would otherwise pull in
extern "C" void __cxa_pure_virtual() {
  for (;;) {
  }
}
extern "C" int __cxa_atexit(void (*)(void *), void *, void *) { return 0; }
void *__dso_handle = nullptr;
void operator delete(void *) noexcept {}
void operator delete(void *, unsigned int) noexcept {}
