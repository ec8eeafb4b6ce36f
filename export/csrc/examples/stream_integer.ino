// Stream fixed-point inputs read on the serial port through the integer-only forecaster: model
// units times 2^EFI_X_BITS in, the forecast of the next input out, in the same units (the
// normalization, (sample - center) / scale, is in the model's model.json). No float anywhere.
#include <forecaster_integer.h>

static int16_t state[EFI_STATE_SIZE];  // all zero to start

void setup() { Serial.begin(115200); }

void loop() {
  if (Serial.available() <= 0) return;
  int16_t x = (int16_t)Serial.parseInt();
  Serial.println(efi_step(state, x));
}
