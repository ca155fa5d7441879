"""o3video's data and rewards in other training engines (verl: `o3video.integrations.verl`)."""
