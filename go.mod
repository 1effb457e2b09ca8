module github.com/recordingsd/recordingsd

go 1.26.8
