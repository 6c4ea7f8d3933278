"""Cloud Map (AWS Cloud Map / servicediscovery 2017-03-14) resources as Meshway stores them."""
