"""Vision backends: what a photo or a rendered frame shows. Today that is faces and their 478 face-mesh
landmarks (`face_mesh.FaceMeshDetector`), used to analyse avatar portraits and, in tests, to check that
rendered frames still hold a face whose mouth and eyes move as the motion asked."""
