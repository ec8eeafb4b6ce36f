// Stream numbers read on the serial port through the forecaster: per sample, the forecasts of the
// next EF_HORIZON samples and the sample's anomaly score. The library's sources are C; forecaster.h is C++-safe.
#include <forecaster.h>

static ef_stream stream;  // the whole state: the recurrent state, the score's running values

void setup() {
  Serial.begin(115200);
  ef_reset(&stream);
}

void loop() {
  if (Serial.available() <= 0) return;
  float sample = Serial.parseFloat();  // data units, as the model was trained on
  float forecast[EF_HORIZON];
  if (ef_push(&stream, sample, forecast)) {  // 1 once EF_HISTORY samples are in
    for (int h = 0; h < EF_HORIZON; h++) {
      Serial.print(forecast[h], 6);
      Serial.print(' ');
    }
    Serial.print(stream.score, 4);  // this sample's score, 0 to 1
    Serial.println(stream.anomaly ? " anomaly" : "");
  }
}
