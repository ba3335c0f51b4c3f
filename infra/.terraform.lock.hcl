# This file is maintained automatically by "terraform init".
# Manual edits may be lost in future updates.

provider "registry.terraform.io/hashicorp/archive" {
  version     = "2.8.1"
  constraints = ">= 2.4.0, < 3.0.0"
  hashes = [
    "h1:fMnt2oJP1KpEE7qBRy0djh4XQQ9nY74uqqO+lczh0mg=",
  ]
}

provider "registry.terraform.io/hashicorp/azuread" {
  version     = "3.10.0"
  constraints = ">= 3.10.0, < 4.0.0"
  hashes = [
    "h1:PmxIttJQhYXSQBt8GMLFGTCYJiugRy3w4r55P3ZPJIM=",
  ]
}

provider "registry.terraform.io/hashicorp/azurerm" {
  version     = "5.10.0"
  constraints = ">= 5.0.0, < 6.0.0"
  hashes = [
    "h1:+rjC6jnqEDmGwAefsgdZrHvVij9t8HVzhwu549L06Yk=",
  ]
}

provider "registry.terraform.io/hashicorp/google" {
  version     = "8.7.0"
  constraints = ">= 8.0.0, < 9.0.0"
  hashes = [
    "h1:jyVbU+NQ5gKbglbTfgHkYasvhUdU09CsC4ysaX5ePRA=",
  ]
}

provider "registry.terraform.io/hashicorp/random" {
  version     = "3.9.1"
  constraints = ">= 3.6.0, < 4.0.0"
  hashes = [
    "h1:8R5q6FwLkaQifuynfTzrbOkUMHjsFEjwF14wMAOrlrU=",
  ]
}
