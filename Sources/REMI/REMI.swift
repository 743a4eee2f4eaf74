// The REMI module: events, vocabulary, chord recogniser, encoder, decoder.
